# Perceptron from a random initial weight vector, written in the arrow form.
# meta: scalar_count=6 vector_count=3 matrix_count=1 vector_dim=16
# setup:
GAUSSIAN 0 0.1 -> v1
CONST 0.1 -> s2
# predict:
DOT v1 v0 -> s3
HEAVISIDE s3 -> s0
# learn:
SUB s1 s0 -> s4
MUL s4 s2 -> s5
MUL v0 s5 -> v2
ADD v1 v2 -> v1
