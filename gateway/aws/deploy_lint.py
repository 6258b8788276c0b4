"""What works locally but bites at deploy time: warnings with the reason and a link.

    for warning in deploy_warnings(config, region="eu-west-1"):
        print(warning)

Pure: reads the typed configuration only. ``scf-local validate`` prints these
(``--strict`` makes them errors); the routing table's own warnings (prefixes
the CloudFront Function can never match, shadowed patterns) come from
:meth:`gateway.aws.routing.Router.warnings`.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.aws.limits import CLOUDFRONT_ORIGIN_READ_TIMEOUT
from gateway.aws.scf_variables import missing_slack_tokens
from gateway.aws.schedule_expressions import ScheduleError, parse_schedule
from gateway.config import Config
from gateway.config.yamlsrc import format_key_path
from gateway.errors import ConfigWarning

CERTIFICATE_DOCS = (
    "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html"
)
FUNCTION_URL_DOCS = "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"
TIMEOUT_DOCS = (
    "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesOrigin.html"
)
ALB_PRICING = "https://aws.amazon.com/elasticloadbalancing/pricing/"
SCHEDULE_DOCS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html"
VITE_ALLOWED_HOSTS = "https://vite.dev/config/server-options#server-allowedhosts"


def deploy_warnings(
    config: Config, region: str, environ: Mapping[str, str] | None = None
) -> list[ConfigWarning]:
    """``environ``: the user's environment (SCF's deploy copies ``SLACK_*`` from it)."""
    warnings: list[ConfigWarning] = []

    def warn(path: tuple[str | int, ...], message: str, hint: str) -> None:
        warnings.append(
            ConfigWarning(message, position=config.position(*path), key_path=format_key_path(path), hint=hint)
        )

    for c in config.containers:
        if c.is_lambda and c.run.host_checking:
            warn(
                ("containers", c.name, "src"),
                f"'{c.run.host_checking}' checks the Host header; on AWS Lambda the app sees the "
                f"Function URL's host (<id>.lambda-url.{region}.on.aws), not your domain. scf-local "
                "passes the viewer's host, so it works here and may answer 403 'Blocked request' there.",
                "Allow '.on.aws' in the server's allowed hosts (Vite: server.allowedHosts / "
                f"preview.allowedHosts), or serve a production build. {VITE_ALLOWED_HOSTS}",
            )
        if c.routing.domain and region != "us-east-1":
            warn(
                ("containers", c.name, "routing", "domain"),
                f"a custom domain while deploying to {region}",
                "CloudFront only accepts certificates from us-east-1, and SCF requests the certificate in "
                "the deploy region: the deploy fails with InvalidViewerCertificate. Deploy to us-east-1, or "
                f"remove the domain. {CERTIFICATE_DOCS}",
            )
        if c.is_lambda and c.dev.timeout > CLOUDFRONT_ORIGIN_READ_TIMEOUT:
            warn(
                ("containers", c.name, "dev", "timeout"),
                f"{c.dev.timeout} s is longer than CloudFront's {CLOUDFRONT_ORIGIN_READ_TIMEOUT:.0f} s "
                "origin response timeout",
                "Behind CloudFront a request still running after 30 s gets CloudFront's 504, whatever the "
                f"function's own timeout. {TIMEOUT_DOCS}",
            )
    warnings.extend(slack_token_warnings(config, environ or {}))
    for c in config.containers:
        for i in c.integrations:
            if i.type != "schedule" or i.schedule is None:
                continue
            try:
                parse_schedule(i.schedule)
            except ScheduleError as exc:
                warn(
                    ("containers", c.name, "integrations", i.name, "schedule"),
                    str(exc),
                    f"EventBridge refuses it at deploy and scf-local up does not run it. {SCHEDULE_DOCS}",
                )
    lambdas = [c.name for c in config.containers if c.is_lambda]
    if lambdas and len(lambdas) == len(config.containers):
        warn(
            ("containers",),
            "every container runs on Lambda, but SCF creates an Application Load Balancer anyway",
            f"The ALB is billed by the hour whether or not it serves anything. {ALB_PRICING}",
        )
    if lambdas:
        warn(
            ("containers", lambdas[0], "compute", "type"),
            f"the Function URLs of {', '.join(lambdas)} are public (auth type NONE)",
            "SCF creates them without IAM auth so that CloudFront can call them: they answer anyone who "
            f"finds the URL, bypassing CloudFront. {FUNCTION_URL_DOCS}",
        )
    return warnings


def slack_token_warnings(config: Config, environ: Mapping[str, str]) -> list[ConfigWarning]:
    """Slack integrations whose tokens neither the environment nor the container give (``validate``
    and ``up`` say so: SCF's Slack apps refuse to start without them)."""
    warnings = []
    for name, absent in missing_slack_tokens(config, environ).items():
        slack = next(i for i in config.container(name).integrations if i.type == "slack")
        path = ("containers", name, "integrations", slack.name)
        warnings.append(
            ConfigWarning(
                f"a Slack integration, and {', '.join(absent)} set neither in your environment nor in "
                f"containers.{name}.environment",
                position=config.position(*path),
                key_path=format_key_path(path),
                hint="SCF's deploy copies SLACK_APP_TOKEN, SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET from "
                "your environment into the containers (scf-local up does too): export them from your "
                "Slack app's settings. Locally SCF's examples connect in Socket Mode when "
                "SERVERLESS_LOCAL=true, which needs SLACK_APP_TOKEN.",
            )
        )
    return warnings
