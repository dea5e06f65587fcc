#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/kdf.h>

// BIO_get_mem_data is a macro over the variadic-looking BIO_ctrl; wrap it for Swift.
static inline long ccrypto_bio_get_mem_data(BIO *bio, char **out) { return BIO_get_mem_data(bio, out); }
