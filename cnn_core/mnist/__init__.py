"""MNIST, trained live: the data, the recipes, the training loop, and the jobs, queue and
executors that run it in worker processes (or on a Ray cluster), with the page's charts.

    data.py       the MNIST files: checked against their published SHA-256, downloaded on request
    recipes.py    a network (``cnn_core.networks``) and the settings to train it
    training.py   the fit loop: splits, augmentation, schedule, evaluation (TensorFlow inside)
    ensemble.py   averaged members and test-time augmentation
    jobs.py       a training job: its spec, its run in a worker, its result and estimate
    queue.py      one queue per server: place, estimate, cancel
    executors.py  where jobs run: local worker processes, or Ray
    digits.py     a drawn digit → the network's 28×28 input
    views.py      tables and charts of a run
    __main__.py   the command line: ``python -m cnn_core.train`` (or ``python -m cnn_core.mnist``)
"""

from cnn_core.mnist.data import load_mnist
from cnn_core.mnist.digits import predict_digit, preprocess_digit
from cnn_core.mnist.jobs import Job, JobCancelled, JobFailed, JobResult, JobSpec
from cnn_core.mnist.queue import TrainingQueue, keep_recent_results, shared_queue
from cnn_core.mnist.recipes import RECIPES, Recipe, TrainSettings, build_model, recipe
from cnn_core.mnist.training import TrainResult, check_settings, evaluate, train

__all__ = ["load_mnist", "predict_digit", "preprocess_digit", "Job", "JobCancelled", "JobFailed",
           "JobResult", "JobSpec", "TrainingQueue", "keep_recent_results", "shared_queue",
           "RECIPES", "Recipe", "TrainSettings", "build_model", "recipe", "TrainResult",
           "check_settings", "evaluate", "train"]
