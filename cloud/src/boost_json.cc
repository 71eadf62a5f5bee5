// The one translation unit that compiles Boost.JSON (header-only mode, linking only
// Boost::headers: cross builds need no compiled Boost). Every other user of Boost.JSON, in
// cloud/ and in modules linking cloud/, includes the ordinary headers and links this object.
#include <boost/json/src.hpp>
