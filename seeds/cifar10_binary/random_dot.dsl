# meta: scalar_count=6 vector_count=3 matrix_count=1 vector_dim=16 setup_max_ops=30 predict_max_ops=30 learn_max_ops=30
def Setup():
  v1 = gaussian(0.0, 0.10000000149011612)
  s2 = 0.10000000149011612
def Predict():
  s3 = dot(v1, v0)
  s0 = heaviside(s3, 1.0)
def Learn():
  s4 = s1 - s0
  s5 = s4 * s2
  v2 = v0 * s5
  v1 = v1 + v2