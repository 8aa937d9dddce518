// Asio and Beast compiled once for all of daicho (separate compilation):
// every other translation unit sees only their declarations, which keeps
// builds of the many files that include transport/asio.h tolerable.
#include "transport/asio.h"

#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
