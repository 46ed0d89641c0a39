# Threshold on the mean of the first four inputs, selected by a fixed mask v1.
# meta: scalar_count=8 vector_count=2 matrix_count=1 vector_dim=16
# setup:
v1 = 0
v1[0] = 0.25
v1[1] = 0.25
v1[2] = 0.25
v1[3] = 0.25
s2 = 0.5
s3 = 0.02
# predict:
s4 = dot(v1, v0)
s5 = s4 - s2
s0 = heaviside(s5)
# learn:
s6 = s0 - s1
s7 = s6 * s3
s2 = s2 + s7
