from django.apps import AppConfig
from django.urls import register_converter


class MetricsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "metrics"
    verbose_name = "Metric leaderboards"

    def ready(self) -> None:
        from metrics.converters import RunIdConverter

        # Registered once, before the URL modules (loaded on first use) name it.
        register_converter(RunIdConverter, "run_id")
