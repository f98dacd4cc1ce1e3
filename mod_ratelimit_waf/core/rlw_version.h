/* rlw_version.h - the project's version, in one place.
 *
 * The module reports it (httpd's start-up line via its server description,
 * RLW00003, the status page in HTML, JSON and the ratelimit_waf_build_info
 * metric), and so does rlwafctl --version. debian/changelog must name the
 * same version: make deb refuses to build otherwise, and t/deb/test_deb.sh
 * checks that all of them agree (docs/packaging.md).
 */
#ifndef RLW_VERSION_H
#define RLW_VERSION_H

#define RLW_VERSION "0.9.0"

#endif
