// The shared part of Fluent Python's flags examples (chapter 17), as the book's flags.py:
// the country codes, get_flag, save_flag, show, download_one and main(download_many). Each
// flags twin defines only its download_many, as flags_threadpool.py does in the book.
//
// The flags come from a local seed::WebServer started by main() with the book's slow-server
// delay of 0.5 s per request (scaled by --fast / --scale), or from CFUTURES_FLAGS_URL if set
// (for example a standalone `flag_server`). Images are saved under downloads/ in the
// current directory.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace flags {

extern const std::vector<std::string> POP20_CC;  // CN IN US ID BR PK NG BD RU JP MX PH VN ET EG DE IR TR CD FR
extern const std::string DEST_DIR;               // "downloads/"

// The flags' base URL, "http://127.0.0.1:PORT/flags" (valid once main() has started).
std::string base_url();

void save_flag(const std::string& img, const std::string& filename);
std::string get_flag(const std::string& cc);  // prints "download <url>"
void show(const std::string& text);           // prints text and a space, no newline
void download_one(const std::string& cc);     // get_flag, then save_flag

// Parses the options, serves the flags (unless CFUTURES_FLAGS_URL is set), times
// download_many(POP20_CC) and prints "\n20 flags downloaded in 1.23s". Returns main's status.
int main(int argc, char** argv, std::size_t (*download_many)(const std::vector<std::string>& cc_list));

}  // namespace flags
