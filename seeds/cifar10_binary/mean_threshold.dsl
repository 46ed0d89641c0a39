# meta: scalar_count=8 vector_count=1 matrix_count=1 vector_dim=16 setup_max_ops=30 predict_max_ops=30 learn_max_ops=30
def Setup():
  s2 = 0.0
  s3 = 0.05000000074505806
def Predict():
  s4 = mean(v0)
  s5 = s4 - s2
  s0 = heaviside(s5, 1.0)
def Learn():
  s6 = s0 - s1
  s7 = s6 * s3
  s2 = s2 + s7