# Linear model on the L2-normalised input, written in the def style.
# meta: scalar_count=6 vector_count=4 matrix_count=1 vector_dim=16
def Setup():
  v1 = uniform(-0.1, 0.1)
  s2 = 0.05
def Predict():
  s3 = norm(v0)
  v2 = v0 / s3
  s0 = dot(v1, v2)
def Learn():
  s4 = s1 - s0
  s5 = s4 * s2
  v3 = v2 * s5
  v1 = v1 + v3
