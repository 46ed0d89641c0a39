# meta: scalar_count=6 vector_count=3 matrix_count=1 vector_dim=16 setup_max_ops=4 predict_max_ops=4 learn_max_ops=8
def Setup():
  s2 = 0.009999999776482582
def Predict():
  s0 = dot(v1, v0)
def Learn():
  s3 = s1 - s0
  s4 = s3 * s2
  v2 = v0 * s4
  v1 = v1 + v2