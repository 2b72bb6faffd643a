"""Writes of the evaluation app, one transaction each: submissions, votes and ratings."""

from evaluation.services.submissions import model_submit

__all__ = ["model_submit"]
