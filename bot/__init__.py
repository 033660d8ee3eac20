"""gitops-promotion-bot: promote and roll back container images across Flux environments from Slack."""

__version__ = "0.1.0"
