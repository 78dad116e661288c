"""Celery workers that label catalogs with ONNX Runtime. Never imports TensorFlow.

`celery -A worker worker -Q labeling` finds the app in `worker.celery`.
"""
