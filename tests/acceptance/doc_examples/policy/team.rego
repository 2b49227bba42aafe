package team.settings

import rego.v1

warn contains msg if {
	input.debug == true
	not data.exceptions.allow_debug
	msg := "debug is switched on"
}
