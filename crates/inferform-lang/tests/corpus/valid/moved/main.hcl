# moved blocks: with no state, a move has nothing to carry. (import blocks need an object in
# a cloud to adopt; the invalid corpus and the end-to-end suite cover them.)

moved {
  from = inferform_data.old_name
  to   = inferform_data.new_name
}

moved {
  from = inferform_data.single
  to   = inferform_data.counted[0]
}

resource "inferform_data" "new_name" {
  input = "renamed"
}

resource "inferform_data" "counted" {
  count = 1
  input = count.index
}
