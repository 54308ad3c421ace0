// Printing objects for people: aligned tables and one-line summaries per kind.
#pragma once

#include <string>
#include <vector>

#include "core/objects.h"

namespace korc::cli {

// Rows of cells printed as left-aligned columns separated by three spaces, like kubectl.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

// A short description of an object's state ("replicas 3/3 ready", "Running on node-1").
std::string Summary(const api::Object& object);

// "3m20s", "5h", "2d": how kubectl prints ages.
std::string HumanDuration(int64_t ns);

}  // namespace korc::cli
