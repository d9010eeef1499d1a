// libsodium: ed25519 signatures and randomness. Installed by Bootstrap/install-deps.sh (libsodium-dev).
#include <sodium.h>
