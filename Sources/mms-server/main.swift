import Foundation
FileHandle.standardError.write(Data("mms-server: not built yet\n".utf8))
exit(1)
