"""Deployment artefacts: the Dockerfile (hadolint + its facts) and the Helm chart (lint + rendered objects)."""
