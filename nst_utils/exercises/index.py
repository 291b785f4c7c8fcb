"""The index of the exercises: their modules in the notebooks' order, and their records."""

from . import (
    deprocess_image,
    evaluator,
    feature_reconstruction_loss,
    gram_matrix,
    preprocess_image,
    style_reconstruction_loss,
    total_variation_loss,
    weighted_transfer_loss,
)

#: The exercises' modules in the notebooks' order, which is also the gradebook's.
MODULES = (feature_reconstruction_loss, preprocess_image, deprocess_image, gram_matrix,
           style_reconstruction_loss, total_variation_loss, evaluator, weighted_transfer_loss)
#: Each exercise's record, keyed by the name of the function or class students write.
EXERCISES = {module.EXERCISE.name: module.EXERCISE for module in MODULES}


def references():
    """{exercise name: the library's answer}."""
    return {name: record.reference for name, record in EXERCISES.items()}
