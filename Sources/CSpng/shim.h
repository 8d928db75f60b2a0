// libspng (Debian libspng-dev): PNG decode and encode.
#include <spng.h>
