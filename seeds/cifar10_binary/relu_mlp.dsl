# meta: scalar_count=6 vector_count=7 matrix_count=2 vector_dim=16 setup_max_ops=30 predict_max_ops=30 learn_max_ops=30
def Setup():
  m0 = gaussian(0.0, 0.10000000149011612)
  v1 = gaussian(0.0, 0.10000000149011612)
  s2 = 0.009999999776482582
def Predict():
  v2 = dot(m0, v0)
  v6 = v2 - v2
  v3 = maximum(v2, v6)
  s0 = dot(v1, v3)
def Learn():
  s3 = s1 - s0
  s4 = s3 * s2
  v4 = heaviside(v2, 1.0)
  v5 = v1 * s4
  v5 = v5 * v4
  m1 = outer(v5, v0)
  m0 = m0 + m1
  v4 = v3 * s4
  v1 = v1 + v4