# One hidden ReLU layer (matrix m0) and a linear read-out v1, both trained by SGD.
# meta: scalar_count=6 vector_count=6 matrix_count=2 vector_dim=16
# setup:
m0 = gaussian(0, 0.1)
v1 = gaussian(0, 0.1)
s2 = 0.01
# predict:
v2 = matmul(m0, v0)
v3 = maximum(v2, 0)
s0 = dot(v1, v3)
# learn:
s3 = s1 - s0
s4 = s3 * s2
v4 = heaviside(v2)   # ReLU derivative
v5 = v1 * s4
v5 = v5 * v4
m1 = outer(v5, v0)
m0 = m0 + m1
v4 = v3 * s4
v1 = v1 + v4
