"""/api/v1/ resources of campaigns, signatures, toolkits, mailings and deliveries."""


def register(router) -> None:
    pass
