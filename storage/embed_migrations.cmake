# Writes a C++ source holding every migration as (version, name, sql).
# File names are NNN_name.sql; NNN is the schema version the file produces.
set(body "// Generated from migrations/*.sql; do not edit.\n#include \"migrations.hpp\"\n")
string(APPEND body "namespace thermomaven::storage {\nconst std::vector<Migration>& migrations() {\n")
string(APPEND body "  static const std::vector<Migration> all = {\n")
foreach(file ${INPUTS})
  get_filename_component(name ${file} NAME_WE)
  string(REGEX MATCH "^([0-9]+)_" _ ${name})
  math(EXPR version "${CMAKE_MATCH_1}")
  file(READ ${file} sql)
  string(APPEND body "    {${version}, \"${name}\", R\"tm_sql(${sql})tm_sql\"},\n")
endforeach()
string(APPEND body "  };\n  return all;\n}\n}  // namespace thermomaven::storage\n")
file(WRITE ${OUTPUT} "${body}")
