package decision

import _ "github.com/google/cel-go/cel"
import _ "gopkg.in/yaml.v3"
import _ "github.com/openekyc/ekyc/proto/ekyc/v1"
