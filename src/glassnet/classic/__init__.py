"""Classic learners of the course: Rosenblatt perceptron, Adaline."""
