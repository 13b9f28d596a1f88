"""/api/v1/ webhooks: a partner's endpoints and their delivery log."""


def register(router) -> None:
    pass
