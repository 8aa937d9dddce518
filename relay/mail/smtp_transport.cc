#include "relay/mail/smtp_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>

namespace daicho::relay::mail {
namespace {

Status GlobalInit() {
  // Once per process, before any handle: libcurl's global state is not
  // thread-safe to set up.
  static CURLcode init = [] { return curl_global_init(CURL_GLOBAL_DEFAULT); }();
  if (init != CURLE_OK) return Status(Code::kInternal, std::string("libcurl: ") + curl_easy_strerror(init));
  return Status::Ok();
}

struct Upload {
  std::string_view rest;
};

size_t ReadMessage(char* buffer, size_t size, size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const size_t n = std::min(size * count, upload->rest.size());
  std::memcpy(buffer, upload->rest.data(), n);
  upload->rest.remove_prefix(n);
  return n;
}

struct CurlHandle {
  CURL* curl = curl_easy_init();
  curl_slist* recipients = nullptr;
  ~CurlHandle() {
    curl_slist_free_all(recipients);
    if (curl) curl_easy_cleanup(curl);
  }
};

}  // namespace

Result<std::unique_ptr<SmtpTransport>> SmtpTransport::Create(SmtpOptions options) {
  if (!options.url.starts_with("smtp://") && !options.url.starts_with("smtps://")) {
    return Status(Code::kInvalidArgument,
                  "the SMTP URL \"" + options.url + "\" must start with smtps:// (TLS) or smtp:// (STARTTLS)");
  }
  if (!options.user.empty() && options.password.empty()) {
    return Status(Code::kInvalidArgument, "an SMTP user needs a password");
  }
  DAICHO_RETURN_IF_ERROR(GlobalInit());
  return std::unique_ptr<SmtpTransport>(new SmtpTransport(std::move(options)));
}

SmtpTransport::SmtpTransport(SmtpOptions options) : options_(std::move(options)) {}

Status SmtpTransport::Deliver(std::string_view from, std::string_view to, std::string_view message) {
  CurlHandle handle;
  if (!handle.curl) return Status(Code::kInternal, "libcurl could not make a handle");
  CURL* curl = handle.curl;
  const std::string mail_from = "<" + std::string(from) + ">";
  handle.recipients = curl_slist_append(nullptr, ("<" + std::string(to) + ">").c_str());
  Upload upload{message};
  char error[CURL_ERROR_SIZE] = {};

  curl_easy_setopt(curl, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  // STARTTLS is required on smtp://: without it the password and the code
  // would cross the network in clear.
  curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.user.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, options_.user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.password.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, handle.recipients);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadMessage);
  curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  // No signals from a threaded server; timeouts bound a stuck server.
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);

  const CURLcode result = curl_easy_perform(curl);
  if (result == CURLE_OK) return Status::Ok();
  const std::string detail =
      Describe() + ": " + curl_easy_strerror(result) + (error[0] != '\0' ? std::string(" (") + error + ")" : "");
  if (result == CURLE_LOGIN_DENIED) {
    return Status(Code::kUnauthenticated, "the SMTP server refused the login: " + detail);
  }
  return Status(Code::kUnavailable, "mail not sent: " + detail);
}

std::string SmtpTransport::Describe() const { return options_.url; }

}  // namespace daicho::relay::mail
