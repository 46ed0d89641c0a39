# Mean/threshold classifier: predicts 1 when the mean input exceeds a learned threshold s2.
# meta: scalar_count=8 vector_count=1 matrix_count=1 vector_dim=16
# setup:
s2 = 0             # threshold
s3 = 0.05          # threshold step
# predict:
s4 = mean(v0)
s5 = s4 - s2
s0 = heaviside(s5)
# learn:
s6 = s0 - s1       # +1 false positive (raise threshold), -1 false negative (lower it)
s7 = s6 * s3
s2 = s2 + s7
