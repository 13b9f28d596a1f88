from django.apps import AppConfig


class MailingsConfig(AppConfig):
    name = "mailings"
    verbose_name = "Mailings"

    def ready(self):
        from anymail.signals import tracking

        from mailings.webhooks import tracking_received

        # The provider's bounce, complaint and unsubscribe webhooks (see mailings.webhooks).
        tracking.connect(tracking_received, dispatch_uid="mailings.tracking_received")
