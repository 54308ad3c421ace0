// Keeps the library non-empty while reducers are added one file at a time.
namespace korc::controllers {}
