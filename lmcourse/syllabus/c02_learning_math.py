"""Chapter 02's parameters and profile values.

The math of learning: loss, gradient descent, optimizers, cross-entropy = MLE, and
backpropagation by hand through a one-hidden-layer character MLP.
"""

from __future__ import annotations

from lmcourse.params import Chapter, Param

CHAPTER = Chapter(
    id="02",
    slug="02_learning_math",
    title="The math of learning: loss, gradient descent, optimizers, cross-entropy = MLE",
    params={
        "epochs": Param(
            int,
            "full-batch gradient-descent steps (one step = one epoch); each optimizer in "
            "the SGD/momentum/Adam comparison takes as many minibatch steps",
            min=1,
            max=100_000,
        ),
        "learning_rate": Param(
            float,
            "step size of the hand-written gradient descent on the bigram model (stable "
            "below ~106 there); the learning-rate plot also runs it /30 and x10",
            min=0.0,
            max=10_000.0,
            min_exclusive=True,
        ),
        "batch_size": Param(
            int,
            "character pairs per minibatch in the SGD/momentum/Adam comparison, and "
            "contexts per minibatch for the character MLP",
            min=1,
            max=1_000_000,
        ),
        "mlp_steps": Param(
            int,
            "minibatch Adam steps of the character MLP trained with hand-written backprop",
            min=1,
            max=1_000_000,
        ),
        "mlp_hidden": Param(
            int,
            "tanh units in the character MLP's hidden layer",
            min=1,
            max=8192,
        ),
    },
    profiles={
        "smoke": {
            "epochs": 100,
            "learning_rate": 100.0,
            "batch_size": 256,
            "mlp_steps": 300,
            "mlp_hidden": 64,
        },
        "standard": {
            "epochs": 2000,
            "learning_rate": 100.0,
            "batch_size": 256,
            "mlp_steps": 6000,
            "mlp_hidden": 192,
        },
        "full": {
            "epochs": 10_000,
            "learning_rate": 100.0,
            "batch_size": 512,
            "mlp_steps": 30_000,
            "mlp_hidden": 512,
        },
    },
)
