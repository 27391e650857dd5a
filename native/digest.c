/*
 * SHA-256 and SHA-512 of a buffer, with the OpenSSL that Node itself carries (its EVP symbols are exported to
 * addons). Why: the only hashing most commands do is verifying a small blob they are about to trust (an image config
 * on every `run`), and loading node:crypto for it costs ~5 ms of start-up (sixteen internal modules), a hundred times
 * the hash. Streams and large blobs still go through node:crypto.
 *
 *   digestHex(algorithm, data)   algorithm: 'sha256' | 'sha512'; data: a Buffer/Uint8Array; returns lower-case hex
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <openssl/evp.h>
#include <string.h>

static napi_value digest_hex(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char alg[16] = {0};
  size_t alg_len = 0;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], alg, sizeof alg, &alg_len) != napi_ok) {
    napi_throw_type_error(env, NULL, "digestHex(algorithm, data)");
    return NULL;
  }
  const EVP_MD *md = !strcmp(alg, "sha256") ? EVP_sha256() : !strcmp(alg, "sha512") ? EVP_sha512() : NULL;
  if (!md) {
    napi_throw_range_error(env, NULL, "unsupported digest algorithm");
    return NULL;
  }
  void *data = NULL;
  size_t len = 0;
  bool is_typed = false;
  napi_is_typedarray(env, argv[1], &is_typed);
  if (is_typed) {
    napi_typedarray_type type;
    size_t length, offset;
    napi_value ab;
    napi_get_typedarray_info(env, argv[1], &type, &length, &data, &ab, &offset);
    if (type != napi_uint8_array) {
      napi_throw_type_error(env, NULL, "data must be a Uint8Array");
      return NULL;
    }
    len = length;
  } else {
    napi_throw_type_error(env, NULL, "data must be a Uint8Array");
    return NULL;
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  if (!EVP_Digest(data, len, out, &out_len, md, NULL)) {
    napi_throw_error(env, NULL, "EVP_Digest failed");
    return NULL;
  }
  static const char hexdigits[] = "0123456789abcdef";
  char hex[EVP_MAX_MD_SIZE * 2];
  for (unsigned int i = 0; i < out_len; i++) {
    hex[2 * i] = hexdigits[out[i] >> 4];
    hex[2 * i + 1] = hexdigits[out[i] & 15];
  }
  napi_value result;
  napi_create_string_latin1(env, hex, out_len * 2, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "digestHex", NAPI_AUTO_LENGTH, digest_hex, NULL, &fn);
  napi_set_named_property(env, exports, "digestHex", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
