"""Evaluation reports (``python -m scripts.report``) and the demo (``scripts.demo``)."""
