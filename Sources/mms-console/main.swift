import Foundation
FileHandle.standardError.write(Data("mms-console: not built yet\n".utf8))
exit(1)
