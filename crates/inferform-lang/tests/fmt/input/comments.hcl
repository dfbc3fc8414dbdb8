# A file comment.
// Another style.
/* A block comment
   over lines,   kept   as is. */

provider "fabric" {
  region = "cn-southwest-2"   # credentials from the environment
  alias = "second"            // why the alias
  retries = 3 /* inline block comment */
  # own line, badly indented
      // also badly indented
  /* own line block */
  timeout = 30
}

provider "alaya" {} # trailing comment on a block

resource "inferform_data" "x" {
  input = [
    1, # one
    2, // two
    3, /* three */
  ]
  triggers_replace = { # opening comment
    a = 1 # aligned?
    bb = 2     # aligned!
  }
  output = "x"   #no space after hash
}
#final comment without blank line
