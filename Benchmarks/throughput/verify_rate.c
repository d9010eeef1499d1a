/* The machine's ceiling for validated stores: bare libsodium ed25519 verifies per second of a
 * 200-byte message (a heartbeat record's signed buffer is 150 to 250 bytes), single-threaded,
 * best of three one-second passes. Prints one JSON line.
 *
 *   verify_rate */
#include <sodium.h>
#include <stdio.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void) {
    if (sodium_init() < 0) return 2;
    unsigned char public_key[crypto_sign_PUBLICKEYBYTES], secret_key[crypto_sign_SECRETKEYBYTES];
    unsigned char message[200], signature[crypto_sign_BYTES];
    crypto_sign_keypair(public_key, secret_key);
    for (int i = 0; i < 200; i++) message[i] = (unsigned char)(i * 31 + 7);
    crypto_sign_detached(signature, NULL, message, sizeof message, secret_key);
    double best = 0;
    for (int pass = 0; pass < 3; pass++) {
        long verified = 0;
        double start = now_seconds(), elapsed = 0;
        while ((elapsed = now_seconds() - start) < 1.0) {
            for (int i = 0; i < 100; i++) verified += crypto_sign_verify_detached(signature, message, sizeof message, public_key) == 0;
        }
        if (verified / elapsed > best) best = verified / elapsed;
    }
    printf("{\"verifies_per_second\": %.0f}\n", best);
    return 0;
}
