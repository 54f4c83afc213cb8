// The seam between the glue and libmilter: every smfi_* call the milter makes on a message
// goes through this interface, so tests can check what would be sent to the MTA.
#pragma once
#include <string>

namespace ecomm {

class MilterContext {
public:
    virtual ~MilterContext() = default;
    virtual bool add_header(const std::string& name, const std::string& value) = 0;
    virtual bool change_header(const std::string& name, int index, const std::string& value) = 0;
    // Inserts at position index among all headers (0: at the top).
    virtual bool insert_header(int index, const std::string& name, const std::string& value) = 0;
    // Deletes the index-th (1-based) occurrence of name.
    virtual bool remove_header(const std::string& name, int index) = 0;
    virtual bool set_reply(const std::string& code, const std::string& enhanced, const std::string& text) = 0;
    virtual bool quarantine(const std::string& reason) = 0;
};

}  // namespace ecomm
