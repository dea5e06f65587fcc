#include <cups/cups.h>
#include <cups/ipp.h>

// CUPS_VERSION is a floating-point macro; expose it as a function for version reporting.
static inline double ccups_version(void) { return CUPS_VERSION; }
