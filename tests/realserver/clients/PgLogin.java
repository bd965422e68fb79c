// GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
// Log in with pgjdbc and print what the server saw: "ssl=<t|f> dn=<client DN>".
// Connection properties come as key=value lines on stdin (the key password never in argv).
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.Properties;

public class PgLogin {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        String line;
        while ((line = in.readLine()) != null) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                props.setProperty(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        try (Connection conn = DriverManager.getConnection(args[0], props);
             ResultSet rs = conn.createStatement().executeQuery(
                 "SELECT ssl, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
            rs.next();
            System.out.println("ssl=" + (rs.getBoolean(1) ? "t" : "f") + " dn=" + rs.getString(2));
        }
    }
}
