"""The project's configuration: SCF's YAML read as SCF reads it, typed and immutable.

yamlsrc    YAML with file and line of every key; the local overlay merge
variables  ${sls:stage} ${param:} ${env:} ${self:} ${file():} resolution
plan       how each container runs (Lambda mount, built image, web app)
checks     every key checked, errors with file:line:key and a hint
model      the frozen dataclasses
load       load_config(): all of the above in order
"""

from gateway.config.load import find_config, load_config
from gateway.config.model import Build, Config, Container, Dev, Routing

__all__ = ["Build", "Config", "Container", "Dev", "Routing", "find_config", "load_config"]
