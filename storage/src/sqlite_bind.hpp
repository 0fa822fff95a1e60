// Binding optional values to SQLite statements, shared by the storage's
// writers: an absent value is stored as NULL, never as 0 or "".
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <optional>
#include <string>

namespace thermomaven::storage {

// `value` at `index`, or NULL when it is absent.
template <typename T>
void bind_optional(SQLite::Statement& s, int index, const std::optional<T>& value) {
  if (value)
    s.bind(index, *value);
  else
    s.bind(index);  // NULL
}

// `value` at `index`, or NULL when it is empty.
inline void bind_text_or_null(SQLite::Statement& s, int index, const std::string& value) {
  if (value.empty())
    s.bind(index);
  else
    s.bind(index, value);
}

}  // namespace thermomaven::storage
