"""Classic learners of the course: Rosenblatt perceptron, Adaline (batch GD and SGD)."""

from glassnet.classic.learners import Adaline, AdalineSGD, Perceptron

__all__ = ["Perceptron", "Adaline", "AdalineSGD"]
