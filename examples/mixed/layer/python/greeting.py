"""A Lambda layer: mounted at /opt, so /opt/python is on the handler's sys.path."""


def greet(name: str) -> str:
    return f"{name} (with a word from the layer)"
