# meta: scalar_count=6 vector_count=4 matrix_count=1 vector_dim=16 setup_max_ops=30 predict_max_ops=30 learn_max_ops=30
def Setup():
  v1 = uniform(-0.10000000149011612, 0.10000000149011612)
  s2 = 0.05000000074505806
def Predict():
  s3 = norm(v0)
  v2 = v0 / s3
  s0 = dot(v1, v2)
def Learn():
  s4 = s1 - s0
  s5 = s4 * s2
  v3 = v2 * s5
  v1 = v1 + v3