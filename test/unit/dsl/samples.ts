// The two sample programs from the DSL spec, shared by the DSL tests.

export const HASH_STYLE_SAMPLE = `# meta: scalar_count=20 vector_count=10 matrix_count=5 vector_dim=26 setup_max_ops=30 predict_max_ops=30 learn_max_ops=30
# setup:
s1 = 0.1
# predict:
s2 = dot(v0, v1)
s0 = s1 + s2
# learn:
s3 = s1 - s0
`

export const DEF_STYLE_SAMPLE = `# meta: scalar_count=5 vector_count=9 matrix_count=2 vector_dim=16
def Setup():
  NoOp()
def Predict():
  v2 = dot(m0, v0)
  s0 = dot(v2, v0)
def Learn():
  NoOp()
`
