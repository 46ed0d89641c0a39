# Linear model on the input: learned weight vector v1, SGD on squared error.
# meta: scalar_count=6 vector_count=3 matrix_count=1 vector_dim=16 setup_max_ops=4 predict_max_ops=4 learn_max_ops=8
# setup:
s2 = 0.01          # learning rate
v1 = 0             # weights start at zero
# predict:
s0 = dot(v1, v0)
# learn:
s3 = s1 - s0       # error
s4 = s3 * s2
v2 = v0 * s4       # gradient step
v1 = v1 + v2
