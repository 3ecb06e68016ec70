/* libkernels from C99: Linear -> ReLU -> MSE loss, forward and backward.
 *   cc -std=c99 example.c $(pkg-config --cflags --libs kernels)          */
#include <kernels/kernels.h>
#include <stdio.h>
#include <string.h>

/* A contiguous float32 CPU view: ndim 0 (scalar), 1 (n0) or 2 (n0, n1). */
static kn_tensor view(float* data, int ndim, int64_t n0, int64_t n1) {
  kn_tensor t;
  memset(&t, 0, sizeof t);
  t.data = data, t.dtype = KN_FLOAT32, t.device_type = KN_DEVICE_CPU, t.ndim = ndim;
  t.shape[0] = n0, t.shape[1] = n1;
  t.strides[0] = ndim == 2 ? n1 : 1, t.strides[1] = 1;
  return t;
}

static int failures = 0;
static void expect(const char* what, kn_status s, const float* got, const float* want, int n) {
  int i;
  if (s != KN_OK) printf("FAIL %s: %s: %s\n", what, kn_status_string(s), kn_last_error()), ++failures;
  for (i = 0; i < n; ++i)
    if (got[i] - want[i] > 1e-5f || want[i] - got[i] > 1e-5f)
      printf("FAIL %s[%d] = %g, expected %g\n", what, i, got[i], want[i]), ++failures;
}

int main(void) {
  float x[6] = {1, 2, 3, -1, 0, 1}, w[6] = {0.5f, -1, 0, 1, 1, 1}, b[2] = {0.25f, -4};
  float h[4], target[4] = {0}, loss, one = 1, dh[4], dy[4], dx[6], dw[6], db[2];
  kn_tensor X = view(x, 2, 2, 3), W = view(w, 2, 2, 3), B = view(b, 1, 2, 0), H = view(h, 2, 2, 2),
            T = view(target, 2, 2, 2), L = view(&loss, 0, 0, 0), DL = view(&one, 0, 0, 0),
            DH = view(dh, 2, 2, 2), DY = view(dy, 2, 2, 2), DX = view(dx, 2, 2, 3),
            DW = view(dw, 2, 2, 3), DB = view(db, 1, 2, 0), BAD = view(w, 2, 3, 2);
  kn_status s;

  if (kn_abi_version() >> 16 != KN_ABI_VERSION_MAJOR) {
    printf("FAIL: header ABI %d, library ABI %u\n", KN_ABI_VERSION_MAJOR, (unsigned)(kn_abi_version() >> 16));
    return 1;
  }
  printf("libkernels %s\n", kn_version_string());

  /* forward: h = relu(x w^T + b) (in place), loss = mean((h - target)^2) */
  expect("h", kn_linear_forward(&X, &W, &B, &H, NULL), h, (float[]){-1.25f, 2, -0.25f, -4}, 4);
  expect("relu(h)", kn_relu_forward(&H, &H, NULL), h, (float[]){0, 2, 0, 0}, 4);
  expect("loss", kn_mse_loss_forward(KN_REDUCTION_MEAN, &H, &T, &L, NULL), &loss, (float[]){1}, 1);

  /* backward from dloss = 1 (relu's mask from its output: h > 0 iff x > 0) */
  expect("dh", kn_mse_loss_backward(KN_REDUCTION_MEAN, &DL, &H, &T, &DH, NULL, NULL), dh,
         (float[]){0, 1, 0, 0}, 4);
  expect("dy", kn_relu_backward(&DH, &H, &DY, NULL), dy, (float[]){0, 1, 0, 0}, 4);
  s = kn_linear_backward(&DY, &X, &W, &DX, &DW, &DB, NULL);
  expect("dx", s, dx, (float[]){1, 1, 1, 0, 0, 0}, 6);
  expect("dw", s, dw, (float[]){0, 0, 0, 1, 2, 3}, 6);
  expect("db", s, db, (float[]){0, 1}, 2);

  /* a shape error: w of shape (3, 2) for x of shape (2, 3) */
  s = kn_linear_forward(&X, &BAD, &B, &H, NULL);
  printf("expected error: %s: %s\n", kn_status_string(s), kn_last_error());
  if (s != KN_ERR_SHAPE_MISMATCH) printf("FAIL: wrong status\n"), ++failures;

  /* An enum argument out of range, as a C caller may pass it (issue 10, F5:
   * the library must not load it as its C++ enum type before checking): a
   * clear error that reports the value passed. Run under UBSan by
   * `make test-sanitize`. */
  s = kn_gelu_forward((kn_gelu_approximate)-1, &H, &H, NULL);
  printf("expected error: %s: %s\n", kn_status_string(s), kn_last_error());
  if (s != KN_ERR_INVALID_ARGUMENT || !strstr(kn_last_error(), "got -1"))
    printf("FAIL: gelu approximate = -1\n"), ++failures;
  s = kn_mse_loss_forward((kn_reduction)-1, &H, &T, &L, NULL);
  if (s != KN_ERR_INVALID_ARGUMENT || !strstr(kn_last_error(), "reduction: expected a value in [0, 2], got -1"))
    printf("FAIL: mse_loss reduction = -1: %s\n", kn_last_error()), ++failures;

  printf(failures ? "FAILED (%d)\n" : "OK\n", failures);
  return failures != 0;
}
