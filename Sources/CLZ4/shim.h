// liblz4 block API: compresses record pages and snapshots. Installed by Bootstrap/install-deps.sh (liblz4-dev).
#include <lz4.h>
